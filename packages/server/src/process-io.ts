import process from 'node:process';
import type { CliIo } from './cli.ts';

/** The CLI's process wiring: stdout, stderr, environment, and Ctrl-C / SIGTERM as shutdown. */
export const processIo: CliIo = {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  errIsTerminal: process.stderr.isTTY === true,
  shutdownSignal: () =>
    new Promise((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
};
