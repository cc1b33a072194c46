import { describe, expect, it } from '@jest/globals';
import { escapePointer } from './json.js';
import { kubeTime, microTime } from './time.js';

describe('escapePointer', () => {
  it('escapes JSON Pointer segments (RFC 6901)', () => {
    expect(escapePointer('steerer.io/revision')).toBe('steerer.io~1revision');
    expect(escapePointer('a~b/c')).toBe('a~0b~1c');
    expect(escapePointer('~1')).toBe('~01');
  });
});

describe('Kubernetes times', () => {
  const at = Date.parse('2026-03-01T12:34:56.789Z');
  it('writes metav1.Time in whole seconds', () => {
    expect(kubeTime(at)).toBe('2026-03-01T12:34:56Z');
    expect(kubeTime(new Date(at))).toBe('2026-03-01T12:34:56Z');
  });
  it('writes metav1.MicroTime with microseconds', () => {
    expect(microTime(at)).toBe('2026-03-01T12:34:56.789000Z');
  });
});
