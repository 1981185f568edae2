#!/usr/bin/env node
import process from 'node:process';
import { processIo, runCli } from '@raftkit/server';
import { listenNode } from './listen.ts';
import { nodePeerFetch } from './peer-fetch.ts';

// The `raftkit` command: serve, status, get, put, del, check.
process.exit(
  await runCli(process.argv.slice(2), { listen: listenNode, peerFetch: nodePeerFetch() }, processIo),
);
