import type { RejectReason } from './metrics.ts';

/** A request the receiving side refuses; thrown inside a route, turned into a response in one place. */
export class Rejected extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'Rejected';
  }
}
