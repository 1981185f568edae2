import { ApiError } from '../api-error.ts';

const utf8 = new TextEncoder();

/**
 * The key rules. A key is a non-empty string of at most `maxKeyBytes` UTF-8 bytes. In a URL it is
 * one path segment, percent-encoded as UTF-8 (`/` as `%2F`). So that two URLs never name one key,
 * a malformed escape (`%ZZ`, a lone `%`) and escapes that are not UTF-8 (`%FF`) are refused, not
 * taken literally. `.` and `..` are refused too: URL normalization turns those segments (and
 * `%2E`, `%2E%2E`) into the path around them, so no client could ever address such a key.
 */
export function checkKey(key: string, maxKeyBytes: number): string {
  if (key.length === 0) throw new ApiError('BadRequest', 'the key must not be empty');
  if (key === '.' || key === '..') throw new ApiError('BadRequest', 'the keys "." and ".." are not allowed');
  const bytes = utf8.encode(key).length;
  if (bytes > maxKeyBytes) {
    throw new ApiError('PayloadTooLarge', `the key is ${bytes} bytes, over the limit of ${maxKeyBytes}`);
  }
  return key;
}

/** Percent-decodes `raw` strictly: a malformed escape or bytes that are not UTF-8 are refused. */
export function decodeStrict(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError(
      'BadRequest',
      `${what} is not valid percent-encoded UTF-8: ${JSON.stringify(raw.slice(0, 100))}`,
    );
  }
}

/**
 * The key named by the path segment `fromEnd` segments before the end of `url` (0: the last),
 * read from the raw URL: the router's decoded parameter keeps malformed escapes literally.
 */
export function keyInPath(url: string, fromEnd: number, maxKeyBytes: number): string {
  const segments = pathOf(url).split('/');
  const raw = segments[segments.length - 1 - fromEnd] ?? '';
  return checkKey(decodeStrict(raw, 'the key'), maxKeyBytes);
}

/**
 * The path of a serialized absolute URL (a `Request`'s `url`, already normalized), as `new URL`
 * would give it but without parsing the URL again: that was a measurable part of each read.
 */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start === -1) return '/';
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x3f || c === 0x23) {
      end = i;
      break;
    }
  }
  return url.slice(start, end);
}

/** A query parameter decoded strictly (`+` is a space, as in forms), or undefined when absent. */
export function queryText(url: string, name: string): string | undefined {
  const search = new URL(url).search.slice(1);
  for (const pair of search.split('&')) {
    const at = pair.indexOf('=');
    const key = at === -1 ? pair : pair.slice(0, at);
    if (key !== name) continue;
    return decodeStrict((at === -1 ? '' : pair.slice(at + 1)).replaceAll('+', ' '), `the ${name} parameter`);
  }
  return undefined;
}
