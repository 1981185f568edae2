/**
 * `<what> failed (<the cause's own message>)`. A storage error's message is what a log line
 * shows, and "failed" alone would hide whether the disk was full (ENOSPC), broken (EIO) or
 * something else; the cause itself stays attached as `cause`.
 */
export const failedWith = (what: string, cause: unknown): string =>
  `${what} failed (${cause instanceof Error ? cause.message : String(cause)})`;
