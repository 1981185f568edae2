#!/usr/bin/env node
// The `raftkit` command. A plain file that exists before any build, so npm links it when it
// installs the workspace (prepare, which builds dist/, runs only after linking); the command
// itself is runNodeCli in the built dist/.
import process from 'node:process';
import { runNodeCli } from '../dist/index.js';

process.exit(await runNodeCli(process.argv.slice(2)));
