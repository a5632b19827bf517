import { describe, expect, it } from "vitest";
import { fakeJwt } from "../../test/helpers/invoke-wire.js";
import { AuthorizationError, ServerError } from "../errors.js";
import { exchangeErrorFromResponse, mentionsTransientException, parseCmdletFailure } from "./errors.js";

const envelope = (detail: string) =>
  JSON.stringify({
    error: {
      code: "NotFound",
      message: "Error executing cmdlet",
      details: [{ code: "Client", target: "", message: detail }],
      innererror: {
        message: "Error executing cmdlet",
        type: "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
      },
    },
  });

describe("parseCmdletFailure (docs/exchange-rest.md §4, all three variants)", () => {
  it("variant 1: module JSON with localizedString/ClassName/Message", () => {
    const detail = JSON.stringify({
      localizedString: { stringId: "Ex6F9304" },
      ClassName: "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
      Message:
        "The operation couldn't be performed because object 'nobody' couldn't be found on 'X.PROD.OUTLOOK.COM'.",
    });
    expect(parseCmdletFailure(envelope(detail))).toEqual({
      code: "NotFound",
      stringId: "Ex6F9304",
      errorClass: "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
      message:
        "The operation couldn't be performed because object 'nobody' couldn't be found on 'X.PROD.OUTLOOK.COM'.",
    });
  });
  it("variant 2: Message/TypeName JSON", () => {
    const detail = JSON.stringify({
      Message: "The object 'x' already exists.",
      TypeName: "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
      StackTrace: null,
      InnerError: null,
    });
    expect(parseCmdletFailure(envelope(detail))).toMatchObject({
      message: "The object 'x' already exists.",
      errorClass: "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
    });
  });
  it("variant 3: the piped string", () => {
    expect(
      parseCmdletFailure(
        envelope(
          "Ex41BAF5|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The specified mailbox doesn't exist.",
        ),
      ),
    ).toMatchObject({
      stringId: "Ex41BAF5",
      errorClass: "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
      message: "The specified mailbox doesn't exist.",
    });
  });
  it("falls back to internalexception, then error.message", () => {
    expect(
      parseCmdletFailure(
        JSON.stringify({
          error: {
            code: "BadRequest",
            message: "Error executing cmdlet",
            innererror: {
              internalexception: {
                message: "Cannot bind parameter 'Foo'.",
                type: "ParameterBindingException",
              },
            },
          },
        }),
      ),
    ).toEqual({
      code: "BadRequest",
      message: "Cannot bind parameter 'Foo'.",
      errorClass: "ParameterBindingException",
    });
    expect(
      parseCmdletFailure(
        '{"error":{"code":"Unauthorized","message":"User is not allowed to call Get-Mailbox"}}',
      ),
    ).toEqual({
      code: "Unauthorized",
      message: "User is not allowed to call Get-Mailbox",
    });
    expect(parseCmdletFailure("<html>")).toBeUndefined();
  });
});

describe("exchangeErrorFromResponse", () => {
  it("404 → ServerError with the cmdlet's message, class, request id and a hint", () => {
    const e = exchangeErrorFromResponse({
      status: 404,
      headers: { "request-id": "req-1" },
      bodyText: envelope(
        "Ex41BAF5|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The specified mailbox doesn't exist.",
      ),
      cmdlet: "Get-Mailbox",
    }) as ServerError;
    expect(e).toBeInstanceOf(ServerError);
    expect(e.exitCode).toBe(5);
    expect(e.message).toBe(
      "Get-Mailbox failed: Ex41BAF5|ManagementObjectNotFoundException|The specified mailbox doesn't exist.",
    );
    expect(e.requestId).toBe("req-1");
    expect(e.httpStatus).toBe(404);
    expect(e.errorClass).toMatch(/ManagementObjectNotFoundException$/);
    expect(e.hint).toMatch(/-Identity/);
  });

  const denied = (token: string, cmdlet = "Get-Mailbox") =>
    exchangeErrorFromResponse({
      status: 403,
      headers: {},
      bodyText: "\0\0",
      cmdlet,
      token,
    }) as AuthorizationError;

  it("403 diagnosis from the token: permission missing, role missing, read-only role, propagating", () => {
    const noPermission = denied(fakeJwt({ roles: [], wids: ["29232cdf-9323-42fd-ade2-1d097af3e4de"] }));
    expect(noPermission).toBeInstanceOf(AuthorizationError);
    expect(noPermission.exitCode).toBe(4);
    expect(noPermission.reason).toBe("permission-missing");
    expect(noPermission.hint).toMatch(/Exchange.ManageAsApp/);

    const noRole = denied(
      fakeJwt({ roles: ["Exchange.ManageAsApp"], wids: ["b79fbf4d-3ef9-4689-8143-76b194e85509"] }),
    );
    expect(noRole.reason).toBe("role-missing");

    const reader = denied(
      fakeJwt({ roles: ["Exchange.ManageAsApp"], wids: ["f2ef992c-3afb-46b9-b7cf-a126ee74c451"] }),
      "Set-Mailbox",
    );
    expect(reader.reason).toBe("read-only-role");
    expect(reader.hint).toMatch(/Global Reader/);

    const fine = denied(
      fakeJwt({ roles: ["Exchange.ManageAsApp"], wids: ["29232cdf-9323-42fd-ade2-1d097af3e4de"] }),
    );
    expect(fine.reason).toBe("propagating");
    expect(fine.hint).toMatch(/if you just ran setup, wait a few minutes/);
  });

  it("403 'not allowed to call' for a role whose Exchange role group lacks the cmdlet: names role and group", () => {
    const e = exchangeErrorFromResponse({
      status: 403,
      headers: {},
      bodyText: JSON.stringify({
        error: { code: "Forbidden", message: "User is not allowed to call Get-MailboxStatistics" },
      }),
      cmdlet: "Get-MailboxStatistics",
      token: fakeJwt({ roles: ["Exchange.ManageAsApp"], wids: ["5d6b6bb7-de71-4623-b4af-96380a352509"] }),
    }) as AuthorizationError;
    expect(e).toBeInstanceOf(AuthorizationError);
    expect(e.exitCode).toBe(4);
    expect(e.reason).toBe("cmdlet-not-in-role");
    expect(e.hint).toContain("Security Reader → Security Reader");
    expect(e.hint).toContain("exo-cba setup --role global-reader");
  });

  it("3xx → ServerError naming the redirect target (the token is not sent there)", () => {
    const e = exchangeErrorFromResponse({
      status: 302,
      headers: { location: "https://nam12.outlook.office365.com/adminapi/beta/x/InvokeCommand" },
      bodyText: "",
      cmdlet: "Get-Mailbox",
    }) as ServerError;
    expect(e).toBeInstanceOf(ServerError);
    expect(e.message).toMatch(/redirected Get-Mailbox to https:\/\/nam12\.outlook\.office365\.com/);
    expect(e.hint).toMatch(/EXO_EXCHANGE_ENDPOINT/);
  });
});

describe("mentionsTransientException (the classifier the client gives the retry policy)", () => {
  it("names the transient Exchange exception in a 400/500 body, and nothing else", () => {
    expect(mentionsTransientException('{"error":{"message":"ServerBusyException|busy"}}')).toBe(
      "ServerBusyException",
    );
    expect(mentionsTransientException("…StorageTransientException…")).toBe("StorageTransientException");
    expect(mentionsTransientException('{"error":{"message":"bad parameter"}}')).toBeUndefined();
  });
});
