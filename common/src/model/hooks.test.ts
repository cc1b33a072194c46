import { describe, expect, it } from '@jest/globals';
import { specWith } from '../testing/rollout-cases.js';
import { HOOK_LIMITS, hookUrlProblem } from './hooks.js';
import { validateRolloutSpec } from './validate.js';

function errorsOf(hooks: unknown): string[] {
  const r = validateRolloutSpec(specWith({ hooks }));
  return r.ok ? [] : r.errors.map((e) => `${e.field}: ${e.message}`);
}

describe('spec.hooks', () => {
  it('is optional: no hooks, an empty list', () => {
    const r = validateRolloutSpec(specWith({}));
    expect(r.ok && r.value.hooks).toEqual([]);
    expect(errorsOf([])).toEqual([]);
  });

  it('reads each hook with the default timeout and empty metadata', () => {
    const r = validateRolloutSpec(
      specWith({
        hooks: [
          { name: 'smoke', type: 'pre-rollout', url: 'http://tester/smoke' },
          {
            name: 'approve',
            type: 'confirm-promotion',
            url: 'https://gate.example.com/x?y=1',
            timeout: '30s',
            metadata: { ticket: 'OPS-1' },
          },
        ],
      }),
    );
    expect(r.ok && r.value.hooks).toEqual([
      {
        name: 'smoke',
        type: 'pre-rollout',
        url: 'http://tester/smoke',
        timeoutMs: HOOK_LIMITS.defaultTimeoutMs,
        metadata: {},
      },
      {
        name: 'approve',
        type: 'confirm-promotion',
        url: 'https://gate.example.com/x?y=1',
        timeoutMs: 30_000,
        metadata: { ticket: 'OPS-1' },
      },
    ]);
  });

  it.each([
    ['http://h/', undefined],
    ['HTTPS://h:8443/p?q', undefined],
    ['http://[::1]:80/', undefined],
    ['ftp://h/', 'must be an absolute http:// or https:// URL'],
    ['//h/x', 'must be an absolute http:// or https:// URL'],
    ['h/x', 'must be an absolute http:// or https:// URL'],
    ['http://', 'is not a valid URL'],
    [
      'http://u:p@h/',
      'must not carry a user or password (put credentials in the receiver, not the Rollout)',
    ],
    [
      'http://u@h/',
      'must not carry a user or password (put credentials in the receiver, not the Rollout)',
    ],
    ['http://h/#frag', 'must not have a #fragment'],
    [`http://h/${'x'.repeat(2048)}`, 'must be at most 2048 characters'],
  ])('URL %s: %s', (url, problem) => {
    expect(hookUrlProblem(url)).toEqual(problem);
  });

  it('names every bad field', () => {
    expect(
      errorsOf([
        { name: 'Bad_Name', type: 'rollout', url: 'http://h/' },
        { name: 'b', type: 'later', url: 'http://h/', timeout: '500ms' },
        { name: 'c', type: 'rollout', url: 'http://h/', timeout: 'soon', metadata: { a: 1 } },
        { name: 'c', type: 'rollout', url: 'http://h/' },
        { type: 'rollout' },
        'a string',
      ]),
    ).toEqual([
      'spec.hooks[0].name: "Bad_Name" is not a valid hook name (at most 63 lower-case letters, digits and \'-\')',
      'spec.hooks[1].type: must be one of pre-rollout, rollout, confirm-promotion, post-rollout, rollback, got "later"',
      'spec.hooks[1].timeout: must be between 1s and 5m, got 500ms',
      'spec.hooks[2].timeout: "soon" is not a duration (examples: 30s, 1m, 2m30s)',
      'spec.hooks[2].metadata.a: must be a string, got number 1',
      'spec.hooks[3].name: "c" is used by another hook',
      'spec.hooks[4].name: required',
      'spec.hooks[4].url: required',
      'spec.hooks[5]: must be an object, got "a string"',
    ]);
  });

  it('bounds the list', () => {
    const many = Array.from({ length: 21 }, (_, i) => ({
      name: `h${i}`,
      type: 'rollout',
      url: 'http://h/',
    }));
    expect(errorsOf(many)).toEqual(['spec.hooks: must have at most 20 hooks, got 21']);
    expect(errorsOf({ name: 'x' })).toEqual(['spec.hooks: must be a list, got an object']);
  });
});
