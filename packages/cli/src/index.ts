export { listenNode } from './listen.ts';
export { runNodeCli } from './node-cli.ts';
export { nodePeerFetch } from './peer-fetch.ts';
