import { describe, expect, it } from 'vitest';
import { DEFER, GroupCommit, type Outcome } from '../../src/store/group-commit.js';

/** A commit function that records what each call was given. */
function recorder(decide: (items: number[]) => Array<Outcome<string>> | Promise<Array<Outcome<string>>>) {
  const calls: number[][] = [];
  const commit = async (items: number[]) => {
    calls.push([...items]);
    return decide(items);
  };
  return { calls, commit };
}

describe('GroupCommit', () => {
  it('commits everything submitted in one tick together', async () => {
    const { calls, commit } = recorder((items) => items.map((i) => `ok ${i}`));
    const group = new GroupCommit(commit);
    expect(await Promise.all([1, 2, 3].map((i) => group.submit(i)))).toEqual(['ok 1', 'ok 2', 'ok 3']);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it('puts deferred items first in the next commit, in their order', async () => {
    // Takes at most two items per commit and defers the rest.
    const { calls, commit } = recorder((items) => items.map((i, n) => (n < 2 ? `ok ${i}` : DEFER)));
    const group = new GroupCommit(commit);
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => group.submit(i)));
    expect(results).toEqual(['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5']);
    expect(calls).toEqual([
      [1, 2, 3, 4, 5],
      [3, 4, 5],
      [5],
    ]);
  });

  it('fails only the item whose commit keeps failing: the others commit without it', async () => {
    const { calls, commit } = recorder((items) => {
      if (items.includes(3)) throw new Error('item 3 breaks the transaction');
      return items.map((i) => `ok ${i}`);
    });
    const group = new GroupCommit(commit);
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => group.submit(i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason.message)))).toEqual([
      'ok 1',
      'ok 2',
      'item 3 breaks the transaction',
      'ok 4',
      'ok 5',
    ]);
    expect(calls[0]).toEqual([1, 2, 3, 4, 5]);
    // Split in halves down to the failing item: a handful of transactions, not one per item.
    expect(calls.length).toBeLessThanOrEqual(6);
  });

  it('answers every item at once when the database is unreachable, without splitting', async () => {
    const { calls, commit } = recorder(() => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    });
    const group = new GroupCommit(commit);
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => group.submit(i)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('fails the first item of a commit that deferred every item, and goes on with the rest', async () => {
    let calls = 0;
    const group = new GroupCommit(async (items: number[]): Promise<Array<Outcome<string>>> =>
      calls++ === 0 ? items.map(() => DEFER) : items.map((i) => `ok ${i}`),
    );
    const results = await Promise.allSettled([1, 2].map((i) => group.submit(i)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
  });

  it('passes on an Error answered for one item to that caller only', async () => {
    const { commit } = recorder((items) => items.map((i) => (i === 2 ? new Error('refused') : `ok ${i}`)));
    const group = new GroupCommit(commit);
    const results = await Promise.allSettled([1, 2, 3].map((i) => group.submit(i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
