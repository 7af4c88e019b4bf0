import { EventEmitter } from 'node:events';

/** The slice of an Express Response the SSE writers use, recording what they write. */
export class FakeResponse extends EventEmitter {
  headers: Record<string, string> = {};
  statusCode = 0;
  written: string[] = [];
  writableEnded = false;
  destroyed = false;
  status(code: number) {
    this.statusCode = code;
    return this;
  }
  setHeader(name: string, value: string) {
    this.headers[name.toLowerCase()] = value;
  }
  flushHeaders() {}
  write(data: string) {
    this.written.push(data);
    return true;
  }
  end() {
    this.writableEnded = true;
    // Express emits 'close' once the response is finished; the writers' listeners rely on it.
    this.emit('close');
  }
}
