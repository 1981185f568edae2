import { type NodeId, nodeId } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import { decodeUrlContext, encodeUrlContext, MemberUrls } from './member-urls.ts';

const [a, b, c] = [nodeId('a'), nodeId('b'), nodeId('c')];

function directory() {
  const peers = new Map<NodeId, string>();
  const urls = new MemberUrls(a, {
    setPeer: (id, url) => peers.set(id, url),
    removePeer: (id) => peers.delete(id),
  });
  return { urls, peers };
}

describe('member URLs', () => {
  it('encodes contexts with sorted keys, so equal maps give equal bytes', () => {
    expect(encodeUrlContext({ b: '2', a: '1' })).toEqual(encodeUrlContext({ a: '1', b: '2' }));
    expect(decodeUrlContext(encodeUrlContext({ b: '2' }))).toEqual({ b: '2' });
    expect(decodeUrlContext(undefined)).toEqual({});
    expect(decodeUrlContext(new TextEncoder().encode('not json'))).toEqual({});
  });

  it('tells the transport about a member when its entry is appended, and never about itself', () => {
    const { urls, peers } = directory();
    urls.restore({ a: 'url-a', b: 'url-b' });
    expect([...peers]).toEqual([[b, 'url-b']]);
    urls.appended({ changes: [{ kind: 'addLearner', id: c }], context: encodeUrlContext({ c: 'url-c' }) });
    expect(peers.get(c)).toBe('url-c');
    expect(urls.url(c)).toBe('url-c');
    // Not applied yet, so not in the map a snapshot would carry.
    expect(urls.appliedUrls()).toEqual({ a: 'url-a', b: 'url-b' });
    urls.applied({ changes: [{ kind: 'addLearner', id: c }], context: encodeUrlContext({ c: 'url-c' }) });
    expect(urls.appliedUrls()).toEqual({ a: 'url-a', b: 'url-b', c: 'url-c' });
  });

  it('ignores URLs in a context for ids the change does not add', () => {
    const { urls, peers } = directory();
    urls.appended({
      changes: [{ kind: 'remove', id: b }],
      context: encodeUrlContext({ b: 'evil', c: 'evil' }),
    });
    expect(peers.size).toBe(0);
  });

  it('forgets a removed member only when the removal is applied', () => {
    const { urls, peers } = directory();
    urls.restore({ a: 'url-a', b: 'url-b' });
    urls.appended({ changes: [{ kind: 'remove', id: b }] });
    expect(urls.url(b)).toBe('url-b');
    urls.applied({ changes: [{ kind: 'remove', id: b }] });
    expect(urls.url(b)).toBeUndefined();
    expect(peers.has(b)).toBe(false);
  });

  it('a restored snapshot replaces the map and drops peers it no longer names', () => {
    const { urls, peers } = directory();
    urls.restore({ a: 'url-a', b: 'url-b' });
    urls.restore({ a: 'url-a', c: 'url-c' });
    expect([...peers.keys()]).toEqual([c]);
    expect(urls.appliedUrls()).toEqual({ a: 'url-a', c: 'url-c' });
  });
});
