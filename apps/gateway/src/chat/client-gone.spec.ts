import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import { onClientGone } from './chat.controller';

/** The parts of an HTTP response onClientGone reads, settable per case. */
class FakeResponse extends EventEmitter {
  writableEnded = false;
  closed = false;
  destroyed = false;
}

const asResponse = (r: FakeResponse) => r as unknown as Pick<Response, 'writableEnded' | 'closed' | 'destroyed' | 'on'>;

describe('onClientGone (a chat answer is cancelled when its client leaves)', () => {
  it('fires when the client hangs up before the answer was written', () => {
    const res = new FakeResponse();
    const gone = jest.fn();
    onClientGone(asResponse(res), gone);
    expect(gone).not.toHaveBeenCalled();
    res.closed = true;
    res.emit('close');
    expect(gone).toHaveBeenCalledTimes(1);
  });

  it('fires at once when the client had already left (during retrieval, say): close will not come again', () => {
    const res = new FakeResponse();
    res.closed = true;
    res.destroyed = true;
    const gone = jest.fn();
    onClientGone(asResponse(res), gone);
    expect(gone).toHaveBeenCalledTimes(1);
  });

  it('does not fire for a response that was written to the end', () => {
    const res = new FakeResponse();
    const gone = jest.fn();
    onClientGone(asResponse(res), gone);
    res.writableEnded = true;
    res.closed = true;
    res.emit('close');
    expect(gone).not.toHaveBeenCalled();
    const finished = new FakeResponse();
    finished.writableEnded = true;
    finished.closed = true;
    onClientGone(asResponse(finished), gone);
    expect(gone).not.toHaveBeenCalled();
  });
});
