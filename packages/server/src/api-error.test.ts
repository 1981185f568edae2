import { RaftNodeError } from '@raftkit/node';
import { describe, expect, it } from 'vitest';
import { errorResponse, toApiError } from './api-error.ts';

describe('error mapping', () => {
  it('answers NotLeader with 503, Retry-After and the leader hint', async () => {
    const response = errorResponse(
      toApiError(
        new RaftNodeError('NotLeader', 'not the leader', { leader: 'n2' as never, leaderUrl: 'http://n2' }),
      ),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toEqual({
      error: { code: 'NoLeader', message: 'not the leader' },
      leader: 'n2',
      leaderUrl: 'http://n2',
    });
  });

  it.each([
    ['Timeout', 504],
    ['Busy', 503],
    ['Stopped', 503],
    ['Fatal', 503],
    ['Dropped', 503],
    ['ConfigChangeInProgress', 409],
    ['LearnerCatchingUp', 409],
    ['InvalidConfigChange', 400],
    ['InvalidTransferTarget', 400],
  ] as const)('maps the driver code %s to %i', (code, status) => {
    expect(toApiError(new RaftNodeError(code, 'x')).status).toBe(status);
  });

  it('hides the message of an unexpected error behind a 500', async () => {
    const response = errorResponse(toApiError(new Error('secret internals')));
    expect(response.status).toBe(500);
    expect(JSON.stringify(await response.json())).not.toContain('secret internals');
  });
});
