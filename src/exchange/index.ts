export {
  type CmdletCallInfo,
  ExchangeClient,
  type ExchangeClientOptions,
  type ExchangeStats,
  type InvokeOptions,
  MAX_PAGE_SIZE,
  MAX_REPORTED_REQUEST_IDS,
  validateCmdletName,
} from "./client.js";
export {
  type CertificateInput,
  type ConnectOptions,
  type Credential,
  connectExchangeOnline,
  connectionFromResolved,
  createTokenProvider,
  type ExchangeConnection,
  type ExchangeConnectionOptions,
  openExchangeConnection,
  type TokenResource,
  type ValidatedConnection,
  validateConnectOptions,
} from "./connect.js";
export { exchangeErrorFromResponse, parseCmdletFailure, parseDetailMessage } from "./errors.js";
export { anchorMailbox, invokeHeaders } from "./headers.js";
export { normalizeRow, parseByteQuantifiedSize } from "./normalize.js";
export { mergeParametersJson, parseCmdletArguments, parseParameterValue } from "./powershell-args.js";
export {
  type CmdletParameters,
  invokeCommandBody,
  type ParameterValue,
  serializeParameters,
} from "./serialize.js";
export { type TestReport, type TestStep, testConnection } from "./test-connection.js";
