export * from './config.ts';
export * from './errors.ts';
export * from './logger.ts';
export * from './messages.ts';
export * from './ready.ts';
export * from './storage.ts';
export * from './transport.ts';
export * from './types.ts';
