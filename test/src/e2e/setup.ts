// e2e tests drive a real cluster: allow each test up to ten minutes.
import { jest } from '@jest/globals';

jest.setTimeout(600_000);
