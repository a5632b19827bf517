/**
 * Error bodies of the emulated Exchange Online REST endpoint (docs/exchange-rest.md §4).
 *
 * Cmdlet errors use the OData error shape with `details[0].message` in the module's JSON form
 * (`localizedString.stringId`, `ClassName`, `Message`, §4.2 variant 1), which the real module turns into
 * `"<stringId>|<ClassName>|<Message>"`. The short exception name is also sent as `x-ExceptionType`.
 */

export interface ODataErrorBody {
  error: {
    code: string;
    message: string;
    details?: Array<{ code: string; target: string; message: string }>;
    innererror?: {
      message: string;
      type: string;
      internalexception?: { message: string; type: string };
    };
  };
}

/** A cmdlet failed: becomes an OData error with the exception in `details[0].message`. */
export class CmdletError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly className: string,
    readonly stringId: string,
    message: string,
  ) {
    super(message);
    this.name = "CmdletError";
  }

  /** short exception name for the `x-ExceptionType` header */
  get exceptionType(): string {
    return this.className.slice(this.className.lastIndexOf(".") + 1);
  }

  toBody(): ODataErrorBody {
    const detail = JSON.stringify({
      localizedString: { stringId: this.stringId },
      ClassName: this.className,
      Message: this.message,
    });
    return {
      error: {
        code: this.code,
        message: "Error executing cmdlet",
        details: [{ code: "Client", target: "", message: detail }],
        innererror: {
          message: "Error executing cmdlet",
          type: "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
          internalexception: { message: this.message, type: this.className },
        },
      },
    };
  }
}

/** Identity not found (GOEXO's 404 form; reference §4.3). */
export function objectNotFound(identity: string, server: string): CmdletError {
  return new CmdletError(
    404,
    "NotFound",
    "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
    "Ex6F9304",
    `The operation couldn't be performed because object '${identity}' couldn't be found on '${server}'.`,
  );
}

export function commandNotFound(name: string): CmdletError {
  return new CmdletError(
    400,
    "BadRequest",
    "System.Management.Automation.CommandNotFoundException",
    "CommandNotFoundException",
    `The term '${name}' is not recognized as the name of a cmdlet, function, script file, or operable program. ` +
      "Check the spelling of the name, or if a path was included, verify that the path is correct and try again.",
  );
}

export function parameterNotFound(name: string): CmdletError {
  return new CmdletError(
    400,
    "BadRequest",
    "System.Management.Automation.ParameterBindingException",
    "NamedParameterNotFound",
    `A parameter cannot be found that matches parameter name '${name}'.`,
  );
}

export function missingMandatoryParameter(name: string): CmdletError {
  return new CmdletError(
    400,
    "BadRequest",
    "System.Management.Automation.ParameterBindingException",
    "MissingMandatoryParameter",
    `Cannot process command because of one or more missing mandatory parameters: ${name}.`,
  );
}

export function invalidParameterValue(name: string, value: unknown, reason: string): CmdletError {
  return new CmdletError(
    400,
    "BadRequest",
    "System.Management.Automation.ParameterBindingException",
    "ParameterArgumentValidationError",
    `Cannot bind parameter '${name}' to the target. Exception setting "${name}": "${reason}" (value: ${JSON.stringify(value)})`,
  );
}

/** A plain OData error without cmdlet details (authorization, throttling, routing, injected faults). */
export function plainError(code: string, message: string): ODataErrorBody {
  return {
    error: {
      code,
      message,
      innererror: { message, type: "Microsoft.Exchange.Admin.OData.Core.ODataServiceException" },
    },
  };
}
