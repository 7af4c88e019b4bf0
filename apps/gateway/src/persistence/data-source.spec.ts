import { loadAppConfig } from '../config';
import { dataSourceOptions } from './data-source';

describe('gateway DB_POOL_SIZE', () => {
  it('defaults to 20 connections and reaches the data source options', () => {
    expect(dataSourceOptions(loadAppConfig({})).poolSize).toBe(20);
    expect(dataSourceOptions(loadAppConfig({ DB_POOL_SIZE: '64' })).poolSize).toBe(64);
  });

  it.each(['0', '1001', 'ten'])('refuses DB_POOL_SIZE=%s naming the variable', (value) => {
    expect(() => loadAppConfig({ DB_POOL_SIZE: value })).toThrow(/DB_POOL_SIZE/);
  });
});
