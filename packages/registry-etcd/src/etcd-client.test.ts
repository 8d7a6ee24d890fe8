import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectEtcd, guardWatchStream } from './etcd-client.js';

test('the watch-stream guard finds etcd3\'s internals on the pinned version (test/registry/hostile-etcd.test.ts shows why it matters)', () => {
  const client = connectEtcd(['127.0.0.1:1']);
  try {
    // connectEtcd installed it once; a second time wraps again and must still find them.
    assert.equal(guardWatchStream(client), true, 'etcd3\'s WatchManager internals changed: review guardWatchStream');
  } finally {
    client.close();
  }
});
