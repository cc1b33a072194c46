// Reads a JSON request body with a size limit. The admission endpoints take one small
// UTF-8 JSON document per request from the API server; this does exactly that and no
// more (no charset conversion, no inflation), which is much cheaper per request than a
// general-purpose body parser. Errors carry the same `type`/`status` as body-parser's,
// so the app's error handler answers 413 or 400 with a reason.

import type { NextFunction, Request, RequestHandler, Response } from 'express';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

class BodyError extends Error {
  constructor(
    message: string,
    readonly type: 'entity.too.large' | 'entity.parse.failed' | 'encoding.unsupported',
    readonly status: number,
  ) {
    super(message);
  }
}

export function jsonBody(limit: number): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) {
      next();
      return;
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') {
      next(
        new BodyError(`unsupported content encoding "${encoding}"`, 'encoding.unsupported', 415),
      );
      return;
    }
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > limit) {
      req.resume();
      next(new BodyError('request entity too large', 'entity.too.large', 413));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        next(new BodyError('request entity too large', 'entity.too.large', 413));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      const text =
        chunks.length === 1
          ? (chunks[0] as Buffer).toString('utf8')
          : Buffer.concat(chunks, size).toString('utf8');
      // Strict, like the API server's own decoders: a document, not a bare scalar.
      const first = /\S/.exec(text)?.[0];
      if (first !== '{' && first !== '[') {
        next(new BodyError('expected a JSON object or array', 'entity.parse.failed', 400));
        return;
      }
      try {
        req.body = JSON.parse(text) as unknown;
      } catch (e) {
        next(
          new BodyError(
            e instanceof Error ? e.message : 'invalid JSON',
            'entity.parse.failed',
            400,
          ),
        );
        return;
      }
      next();
    });
    req.on('error', (e) => {
      if (failed) return;
      failed = true;
      next(e);
    });
  };
}
