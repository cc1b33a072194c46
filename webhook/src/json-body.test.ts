import { describe, expect, it } from '@jest/globals';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jsonBody } from './json-body.js';

/** An app that echoes what the parser produced, or the error's type and status. */
function app(limit: number): express.Express {
  const a = express();
  a.post('/', jsonBody(limit), (req: Request, res: Response) => {
    res.json({ body: req.body as unknown });
  });
  a.use(
    (
      err: { type?: string; status?: number },
      _req: Request,
      res: Response,
      _next: NextFunction,
    ) => {
      res.status(err.status ?? 500).json({ type: err.type });
    },
  );
  return a;
}

/** Sends raw chunks (no Content-Length when `chunked`), resolves to status and JSON. */
async function send(
  limit: number,
  chunks: string[],
  headers: Record<string, string> = { 'content-type': 'application/json' },
  chunked = false,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const server = http.createServer(app(limit));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const body = chunks.join('');
  try {
    return await new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/',
          headers: chunked
            ? headers
            : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              json: JSON.parse(text) as Record<string, unknown>,
            }),
          );
        },
      );
      req.on('error', reject);
      for (const c of chunks) req.write(c);
      req.end();
    });
  } finally {
    server.close();
  }
}

describe('jsonBody', () => {
  it('parses a document sent in several chunks', async () => {
    expect(await send(100, ['{"a":', '[1,2', ']}'], undefined, true)).toEqual({
      status: 200,
      json: { body: { a: [1, 2] } },
    });
  });

  it('accepts application/*+json and a charset parameter', async () => {
    expect(
      (await send(100, ['{}'], { 'content-type': 'application/merge-patch+json; charset=utf-8' }))
        .json,
    ).toEqual({ body: {} });
  });

  it('leaves other content types unparsed', async () => {
    expect((await send(100, ['{}'], { 'content-type': 'text/plain' })).json).toEqual({});
  });

  it('refuses a declared length over the limit before reading', async () => {
    expect(await send(10, ['{"a":"0123456789"}'])).toEqual({
      status: 413,
      json: { type: 'entity.too.large' },
    });
  });

  it('refuses a chunked body once it passes the limit', async () => {
    expect(await send(10, ['{"a":', '"0123456789"}'], undefined, true)).toEqual({
      status: 413,
      json: { type: 'entity.too.large' },
    });
  });

  it('refuses malformed JSON and bare scalars', async () => {
    expect(await send(100, ['{"a":'])).toEqual({
      status: 400,
      json: { type: 'entity.parse.failed' },
    });
    expect(await send(100, ['"text"'])).toEqual({
      status: 400,
      json: { type: 'entity.parse.failed' },
    });
    expect(await send(100, ['  '])).toEqual({ status: 400, json: { type: 'entity.parse.failed' } });
  });

  it('refuses compressed bodies', async () => {
    expect(
      (await send(100, ['{}'], { 'content-type': 'application/json', 'content-encoding': 'gzip' }))
        .status,
    ).toBe(415);
  });
});
