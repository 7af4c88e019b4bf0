import { ConfigError } from '@ragmesh/config';
import { runService } from './index';

describe('runService', () => {
  let exit: jest.SpiedFunction<typeof process.exit>;
  let stderr: jest.SpiedFunction<typeof process.stderr.write>;

  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });

  afterEach(() => jest.restoreAllMocks());

  it('prints a ConfigError message to stderr and exits 1', async () => {
    await runService('gateway', async () => {
      throw new ConfigError('gateway', 'GATEWAY_PORT', 'must be an integer (got "x")');
    });
    expect(stderr).toHaveBeenCalledWith('invalid configuration for gateway: GATEWAY_PORT: must be an integer (got "x")\n');
    expect(exit).toHaveBeenCalledWith(1);
  });

  it('exits 1 on any other boot error', async () => {
    await runService('gateway', async () => {
      throw new Error('port in use');
    });
    expect(exit).toHaveBeenCalledWith(1);
  });

  it('does not exit when the boot succeeds', async () => {
    let booted = false;
    await runService('gateway', async () => {
      booted = true;
    });
    expect(booted).toBe(true);
    expect(exit).not.toHaveBeenCalled();
  });
});
