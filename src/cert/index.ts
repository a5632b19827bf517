/** Certificates: create, CSR, import, local store, export (PEM/CER/PFX), inspect. */

export {
  type CreateRequestOptions,
  type CreateSelfSignedOptions,
  createCertificateRequest,
  createSelfSignedCertificate,
} from "./create.js";
export { loadCertificateCredential } from "./credential.js";
export { type ExportFormat, type ExportOptions, exportCertificate, exportPfx } from "./export.js";
export { type ImportOptions, type ImportResult, importCertificate } from "./import.js";
export { certificateDerBase64, inspectCertificatePem, parseCertificate } from "./inspect.js";
export { validateDnsName, validateSubject } from "./names.js";
export { CertStore, STORE_PASSPHRASE_ENV } from "./store.js";
export type {
  CertificateCredential,
  CertificateInfo,
  CertificateOrigin,
  ParsedCertificate,
} from "./types.js";
