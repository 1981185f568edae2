import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatScenario, parseScenario, ScenarioEnv } from './testing/scenario.ts';

const dir = fileURLToPath(new URL('../testdata/', import.meta.url));
const rewrite = process.env.RAFTKIT_REWRITE === '1';

describe('scenario files', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt'))) {
    it(file, () => {
      const path = dir + file;
      const { header, blocks } = parseScenario(readFileSync(path, 'utf8'));
      expect(header.startsWith('#'), `${file} must open with a comment saying what it proves`).toBe(true);
      const env = new ScenarioEnv();
      const actual = blocks.map((block) => ({ ...block, expected: env.run(block.command) }));
      if (rewrite) {
        writeFileSync(path, formatScenario(header, actual));
        return;
      }
      for (let i = 0; i < blocks.length; i++) {
        const block = blocks[i] as (typeof blocks)[number];
        expect(
          (actual[i] as (typeof actual)[number]).expected,
          `${file}:${block.line}: ${block.command}`,
        ).toBe(block.expected);
      }
    });
  }
});
