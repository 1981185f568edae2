#!/usr/bin/env node
// The `raftkit` command. A plain file that exists before any build, so npm links it when it
// installs the workspace (prepare, which builds dist/, runs only after linking); the command
// itself is the built dist/cli.js.
await import('../dist/cli.js');
