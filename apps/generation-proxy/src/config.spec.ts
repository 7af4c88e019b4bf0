import { ConfigError } from '@ragmesh/config';
import { loadAppConfig, parseUpstreams, parseUpstreamUrls } from './config';

describe('generation-proxy upstream pool config', () => {
  it('reads a comma-separated pool, trimming blanks', () => {
    expect(parseUpstreamUrls(' http://a:8000/v1 , http://b:8000,', undefined)).toEqual(['http://a:8000/v1', 'http://b:8000']);
  });

  it('falls back to the single GENERATION_UPSTREAM_URL, or to no upstream', () => {
    expect(parseUpstreamUrls('', 'http://one:8000')).toEqual(['http://one:8000']);
    expect(parseUpstreamUrls('', undefined)).toEqual([]);
    expect(loadAppConfig({ GENERATION_UPSTREAM_URL: 'http://one:8000' }).upstreamUrls).toEqual(['http://one:8000']);
  });

  it('names the variable and the bad entry', () => {
    expect(() => parseUpstreamUrls('http://a:8000,vllm:8000', undefined)).toThrow(ConfigError);
    expect(() => parseUpstreamUrls('http://a:8000,vllm:8000', undefined)).toThrow(/GENERATION_UPSTREAMS: "vllm:8000" is not an http\(s\) URL/u);
    expect(() => parseUpstreamUrls('http://a:8000,http://a:8000', undefined)).toThrow(/same URL twice/u);
  });
});

describe('generation-proxy upstream entry options', () => {
  it('reads max_concurrency and multimodal models per upstream', () => {
    expect(parseUpstreams('http://a:8000;max_concurrency=32;multimodal=qwen-vl|llava, http://b:8000', undefined)).toEqual([
      { url: 'http://a:8000', maxConcurrency: 32, multimodalModels: ['qwen-vl', 'llava'] },
      { url: 'http://b:8000' },
    ]);
  });

  it('rejects a bad option naming the upstream and the option', () => {
    expect(() => parseUpstreams('http://a:8000;max_concurrency=0', undefined)).toThrow(/GENERATION_UPSTREAMS: http:\/\/a:8000: max_concurrency/u);
    expect(() => parseUpstreams('http://a:8000;gpu=1', undefined)).toThrow(/unknown option "gpu"/u);
    expect(() => parseUpstreams('http://a:8000;multimodal=', undefined)).toThrow(/multimodal needs a model/u);
  });
});
