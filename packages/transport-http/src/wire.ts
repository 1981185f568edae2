/**
 * Wire constants shared by sender and receiver. The version is in the path, so a future format
 * gets new routes and both can be served side by side during a rolling upgrade; the body repeats
 * it so a stray body is recognized.
 */
export const WIRE_VERSION = 1;
/** Where a node receives batches of Raft messages. */
export const MESSAGES_PATH = '/raft/v1/messages';
/**
 * Where a node receives snapshot chunks, which travel apart from messages so a large transfer does not hold
 * up heartbeats.
 */
export const SNAPSHOT_PATH = '/raft/v1/snapshot';

/**
 * Where a peer opens the message stream this node sends it batches on, as the body of the
 * response (see stream-reader.ts). Requests on `MESSAGES_PATH` carry batches while no stream is
 * open.
 */
export const STREAM_PATH = '/raft/v1/stream';
/** The content type of a message stream: frames (stream-frame.ts), not CBOR as a whole. */
export const STREAM_CONTENT_TYPE = 'application/x-raftkit-stream';
/**
 * A stream with nothing to carry for this long carries an empty frame, so its reader can tell it
 * from a dead connection. Part of the protocol: a reader gives up on a stream after three of
 * these intervals without a frame (or its request timeout, if longer).
 */
export const STREAM_KEEPALIVE_MS = 1000;

/** Every request body is CBOR. */
export const CONTENT_TYPE = 'application/cbor';
/** The sending node's id. */
export const HEADER_FROM = 'x-raftkit-from';
/** Milliseconds since the Unix epoch when the request was signed, in decimal. */
export const HEADER_TIMESTAMP = 'x-raftkit-timestamp';
/** Random per request, 16 to 64 lowercase hex digits, covered by the MAC. */
export const HEADER_NONCE = 'x-raftkit-nonce';
/** HMAC-SHA256 of the request (see auth.ts), in lowercase hex. */
export const HEADER_MAC = 'x-raftkit-mac';

/** What a MAC covers besides the body, so a MAC made for one route is useless on the other. */
export type Route = 'messages' | 'snapshot' | 'stream';
