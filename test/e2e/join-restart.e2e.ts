import { afterAll, describe, expect, it } from 'vitest';
import {
  agreedLeader,
  eventually,
  freePort,
  processScope,
  ServerProcess,
  status,
} from '../support/harness.ts';

/**
 * Found by the fault suite (seed 10): a node started with `--join` contacted the member it joined
 * through at every start, before opening its data directory, so it could never restart once that
 * member was gone, and a cluster that lost its founder lost every joined node with it.
 */
describe('a joined node restarts', () => {
  const scope = processScope();
  afterAll(() => scope.cleanup());

  it('with its --join flag still given, after the member it joined through is gone for good', async () => {
    const launch = async (id: string, args: string[]) => {
      const node = new ServerProcess({
        id,
        runtime: 'node',
        port: await freePort(),
        dataDir: await scope.tempDir(`join-${id}`),
        args,
      });
      scope.nodes.push(node);
      await node.start();
      return node;
    };
    const n1 = await launch('n1', []);
    await agreedLeader([n1]);
    const n2 = await launch('n2', ['--join', n1.url]);
    await eventually('n2 promoted to voter', async () =>
      (await status(n1)).members.find((m) => m.id === 'n2')?.role === 'voter' ? true : undefined,
    );
    await n2.kill('SIGKILL');
    await n1.kill('SIGKILL');
    // The same command line as before: the join URL answers nothing now.
    await n2.start();
    expect((await status(n2)).members.map((m) => m.id).sort()).toEqual(['n1', 'n2']);
    expect(n2.output.join('')).toMatch(/--join ignored/);
  });
});
