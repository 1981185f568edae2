export * from './types.ts';
export * from './messages.ts';
export * from './ready.ts';
export * from './errors.ts';
export * from './logger.ts';
export * from './config.ts';
export * from './storage.ts';
