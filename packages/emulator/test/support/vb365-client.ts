import { request } from "node:https";

/**
 * A bare HTTPS client for the VB365 emulator's tests: trusts exactly the given certificate (the
 * service's self-signed one) and returns status, headers and parsed JSON.
 */

export interface Vb365Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience for reading JSON bodies
  json: any;
}

export function vb365Call(
  origin: string,
  ca: string | undefined,
  method: string,
  path: string,
  options: {
    token?: string;
    form?: Record<string, string>;
    json?: unknown;
    headers?: Record<string, string>;
  } = {},
): Promise<Vb365Response> {
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  let body: string | undefined;
  if (options.form) {
    body = new URLSearchParams(options.form).toString();
    headers["content-type"] = "application/x-www-form-urlencoded";
  } else if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] = "application/json";
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, origin),
      { method, headers, ...(ca ? { ca } : {}), agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Sign in with the password grant and antiforgery switched off; the access token. */
export async function vb365SignIn(
  origin: string,
  ca: string,
  username: string,
  password: string,
  version: 7 | 8 = 8,
): Promise<string> {
  const r = await vb365Call(origin, ca, "POST", `/v${version}/token`, {
    form: { grant_type: "password", username, password, disable_antiforgery_token: "true" },
  });
  if (r.status !== 200) throw new Error(`sign-in failed: ${r.status} ${r.text}`);
  return r.json.access_token as string;
}
