import { describe, expect, it } from 'vitest';
import { ReplayGuard } from '../src/replay-guard.ts';

describe('ReplayGuard', () => {
  it('refuses a MAC it has already admitted inside the window', () => {
    const guard = new ReplayGuard(1000, 10);
    expect(guard.admit('a', 5000, 5000)).toBe('ok');
    expect(guard.admit('a', 5000, 5999)).toBe('replay');
    expect(guard.admit('b', 5000, 5999)).toBe('ok');
  });

  it('forgets a MAC once its timestamp has left the window', () => {
    const guard = new ReplayGuard(1000, 10);
    guard.admit('a', 5000, 5000);
    guard.admit('b', 5500, 5500);
    expect(guard.admit('c', 6001, 6001)).toBe('ok');
    expect(guard.size).toBe(2);
  });

  it('refuses new requests when full rather than forgetting a live MAC', () => {
    const guard = new ReplayGuard(1000, 2);
    guard.admit('a', 5000, 5000);
    guard.admit('b', 5000, 5000);
    expect(guard.admit('c', 5000, 5500)).toBe('full');
    expect(guard.admit('a', 5000, 5500)).toBe('replay');
    expect(guard.admit('c', 5900, 6001)).toBe('ok');
  });

  it('finds expired MACs behind a live one when full', () => {
    const guard = new ReplayGuard(1000, 2);
    guard.admit('late', 9000, 8500);
    guard.admit('early', 7000, 7600);
    expect(guard.admit('c', 8600, 8600)).toBe('ok');
    expect(guard.size).toBe(2);
  });
});
