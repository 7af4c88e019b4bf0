import { applySettingsPatch, DEFAULT_SETTINGS, withDefaults } from './settings';

describe('training settings', () => {
  it('merges a patch, including one hyperparameter, and keeps the rest', () => {
    const result = applySettingsPatch(DEFAULT_SETTINGS, { examples_per_run: 7, hyperparameters: { epochs: 1 } });
    expect(result).toEqual({ ok: true, value: { ...DEFAULT_SETTINGS, examples_per_run: 7, hyperparameters: { ...DEFAULT_SETTINGS.hyperparameters, epochs: 1 } } });
  });

  it.each([
    [[], 'body'],
    [{ examples_per_run: 0 }, 'examples_per_run'],
    [{ min_score: 6 }, 'min_score'],
    [{ pii_patterns: ['ok', '[broken'] }, 'pii_patterns[1]'],
    [{ webhooks: [{ url: 'ftp://x.example', format: 'slack' }] }, 'webhooks[0].url'],
    [{ webhooks: [{ url: 'https://x.example', format: 'teams' }] }, 'webhooks[0].format'],
    [{ hyperparameters: { lora_r: 0 } }, 'hyperparameters.lora_r'],
    [{ hyperparameters: { dropout: 0.1 } }, 'hyperparameters.dropout'],
    [{ adapter_name: 'Has Spaces' }, 'adapter_name'],
    [{ unknown_setting: 1 }, 'unknown_setting'],
    [{ min_chars: 500, max_chars: 100 }, 'min_chars'],
  ])('rejects %j naming %s', (patch, field) => {
    const result = applySettingsPatch(DEFAULT_SETTINGS, patch);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.map((e) => e.field)).toContain(field);
  });

  it('fills keys a stored document lacks with defaults', () => {
    expect(withDefaults({ examples_per_run: 9 })).toEqual({ ...DEFAULT_SETTINGS, examples_per_run: 9 });
    expect(withDefaults(undefined)).toEqual(DEFAULT_SETTINGS);
  });
});
