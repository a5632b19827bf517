/**
 * PEM in and out. Every PEM block we write ends with a newline, because concatenating blocks
 * without one (`...END CERTIFICATE----------BEGIN PRIVATE KEY...`) breaks OpenSSL and MSAL.
 */

export interface PemBlock {
  label: string;
  der: Buffer;
  /** The whole block, BEGIN to END line, headers included. */
  text: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in a text, in order. Headers such as `Proc-Type:` (OpenSSL legacy encryption) are kept out of `der`. */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const label = match[1]!;
    const body = match[2]!;
    const base64 = body
      .split(/\r?\n/)
      .filter((line) => line.trim() !== "" && !line.includes(":"))
      .join("");
    blocks.push({ label, der: Buffer.from(base64, "base64"), text: `${match[0]}\n` });
  }
  return blocks;
}

export function looksLikePem(data: Uint8Array): boolean {
  return Buffer.from(data.subarray(0, 4096)).toString("latin1").includes("-----BEGIN ");
}

export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Join PEM blocks so each starts on its own line. */
export function joinPem(...blocks: string[]): string {
  return blocks.map((b) => (b.endsWith("\n") ? b : `${b}\n`)).join("");
}

export const certificatePemToDer = (pem: string): Buffer => {
  const block = parsePemBlocks(pem).find((b) => b.label === "CERTIFICATE");
  if (!block) throw new Error("no CERTIFICATE block in the PEM text");
  return block.der;
};
