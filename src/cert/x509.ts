/**
 * The one entry point to `@peculiar/x509`. Version 2 needs a Reflect polyfill loaded before it
 * (tsyringe throws "requires a reflect polyfill" otherwise), and ESM evaluates imports in order,
 * so importing it from here guarantees the order everywhere.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

// Node's native WebCrypto: key generation and signing run in OpenSSL, never in pure JS.
x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
