export type { AuthHeaders, SignedRequest } from './auth.ts';
export { MIN_SECRET_BYTES, RequestAuthenticator, RequestSigner } from './auth.ts';
export { readBoundedBody } from './body.ts';
export { HttpTransport } from './http-transport.ts';
export type { DropReason, RejectReason, SendErrorKind, TransportMetrics } from './metrics.ts';
export { REJECT_STATUS } from './metrics.ts';
export type { FetchFunction, HttpTransportOptions } from './options.ts';
export { DEFAULT_MAX_BODY_BYTES, maxEntryBytesFor } from './options.ts';
export { Rejected } from './rejected.ts';
export { ReplayGuard } from './replay-guard.ts';
export {
  CONTENT_TYPE,
  HEADER_FROM,
  HEADER_MAC,
  HEADER_NONCE,
  HEADER_TIMESTAMP,
  MESSAGES_PATH,
  SNAPSHOT_PATH,
  STREAM_CONTENT_TYPE,
  STREAM_KEEPALIVE_MS,
  STREAM_PATH,
  WIRE_VERSION,
} from './wire.ts';
