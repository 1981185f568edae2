import { describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';

function capture(options: Partial<Parameters<typeof createLogger>[0]> = {}) {
  const lines: string[] = [];
  let time = Date.UTC(2026, 11, 1, 12, 0, 0);
  const logger = createLogger({
    level: 'info',
    format: 'json',
    write: (line) => lines.push(line),
    now: () => time,
    ...options,
  });
  return { logger, lines, advance: (ms: number) => (time += ms) };
}

describe('the server logger', () => {
  it('writes one JSON object a line: time, level, event and fields, with the base fields', () => {
    const { logger, lines } = capture({ base: { node: 'n1' } });
    logger.info('leader changed', { from: 'n2', to: 'n3', term: 5 });
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      {
        time: '2026-12-01T12:00:00.000Z',
        level: 'info',
        msg: 'leader changed',
        node: 'n1',
        from: 'n2',
        to: 'n3',
        term: 5,
      },
    ]);
  });

  it('drops lines below its level', () => {
    const { logger, lines } = capture({ level: 'warn' });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((line) => JSON.parse(line).msg)).toEqual(['w', 'e']);
  });

  it('writes a repeated warning once per window, per peer, and counts what it held back', () => {
    const { logger, lines, advance } = capture({ repeatWindowMs: 1000 });
    for (let i = 0; i < 5; i++) logger.warn('peer unreachable', { peer: 'n2' });
    logger.warn('peer unreachable', { peer: 'n3' });
    advance(1000);
    logger.warn('peer unreachable', { peer: 'n2' });
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([
      { peer: 'n2' },
      { peer: 'n3' },
      { peer: 'n2', repeated: 4 },
    ]);
  });

  it('writes aligned text for a terminal, quoting values with spaces', () => {
    const { logger, lines } = capture({ format: 'pretty' });
    logger.warn('storage failed', { dir: '/d', cause: 'disk full' });
    expect(lines).toEqual(['2026-12-01T12:00:00.000Z WARN  storage failed dir=/d cause="disk full"']);
  });
});
