/**
 * Campaign name → runner, with the two scales every campaign has: quick (CI,
 * seconds to a minute each) and full (the counts docs/RELIABILITY.md
 * reports). The CLI and the tests go through here, so a campaign is run the
 * same way everywhere. `--mode` and `--trials` override the preset.
 */
import type { DurabilityMode } from '../store/types.js';
import { DURABILITY_MODES } from '../store/types.js';
import type { CampaignName, CampaignOptions, CampaignResult } from './campaign.js';
import { runCorruptCampaign, type CorruptCampaignOptions, type CorruptTrialRecord } from './corrupt-campaign.js';
import { IOERROR_FULL, IOERROR_QUICK, runIoErrorCampaign } from './ioerror-campaign.js';
import { runKillCampaign, type KillCampaignOptions, type KillTrialRecord } from './kill-campaign.js';
import { POWERLOSS_FULL, POWERLOSS_QUICK, runPowerlossCampaign } from './powerloss-campaign.js';
import { RANKS_SHAPE } from './powerloss-ranks.js';
import { SAVE_SHAPE_NAMES } from './powerloss-shapes.js';

/** Every save shape `torture powerloss --shape` accepts. */
export const POWERLOSS_SHAPES: readonly string[] = [...SAVE_SHAPE_NAMES, RANKS_SHAPE];

export const CAMPAIGN_NAMES: readonly CampaignName[] = ['kill', 'powerloss', 'corrupt', 'ioerror'];

type Preset<T extends CampaignOptions> = Omit<T, 'seed' | 'workDir' | 'onProgress'>;

/** CI: 20 kills per mode (≈ 15 s in all on 2 cores). */
const KILL_QUICK: Preset<KillCampaignOptions> = { modes: [...DURABILITY_MODES], trials: 20 };
/** 2,000 kills per mode: the research note's target (Wilson lower bound 99.81 % when all pass). */
const KILL_FULL: Preset<KillCampaignOptions> = { modes: [...DURABILITY_MODES], trials: 2000 };
/** CI: 10 trials of each of the ~67 variants (≈ 5 s). */
const CORRUPT_QUICK: Preset<CorruptCampaignOptions> = { modes: ['atomic_dirsync'], trials: 10 };
/**
 * 500 trials of every variant, and at least 2,000 per key class (C1, C3, C5,
 * C8, C12; anchors-reliability §4): ≈ 34,500 trials, ≈ 70,000 verifications
 * of undamaged checkpoints.
 */
const CORRUPT_FULL: Preset<CorruptCampaignOptions> = { modes: ['atomic_dirsync'], trials: 500, keyClassFloor: 2000 };

interface CampaignRequest {
  name: CampaignName;
  full: boolean;
  seed: number;
  workDir: string;
  /** Overrides the preset's modes. */
  modes?: DurabilityMode[];
  /** Overrides the preset's trials (meaning per campaign: per mode, per variant, per crash point, …). */
  trials?: number;
  /** Corrupt only: variant names, class ids or name prefixes. */
  classes?: string[];
  /** Corrupt only: against the encrypted fixture; `keyless`: verify and latest without the key. */
  encrypted?: boolean;
  keyless?: boolean;
  /** Powerloss only: save shapes (POWERLOSS_SHAPES). */
  shapes?: string[];
  onProgress?: (done: number, total: number, label: string) => void;
  /** Kill and corrupt: one record per trial (for `--log`). */
  onTrial?: (record: KillTrialRecord | CorruptTrialRecord) => void;
}

function overrides(req: CampaignRequest): Partial<CampaignOptions> & Pick<CampaignOptions, 'seed' | 'workDir'> {
  return {
    seed: req.seed,
    workDir: req.workDir,
    ...(req.modes !== undefined ? { modes: req.modes } : {}),
    ...(req.trials !== undefined ? { trials: req.trials } : {}),
    ...(req.onProgress !== undefined ? { onProgress: req.onProgress } : {}),
  };
}

export function runCampaign(req: CampaignRequest): Promise<CampaignResult> {
  const o = overrides(req);
  const onTrial = req.onTrial !== undefined ? { onTrial: req.onTrial } : {};
  switch (req.name) {
    case 'kill':
      return runKillCampaign({ ...(req.full ? KILL_FULL : KILL_QUICK), ...o, ...onTrial });
    case 'corrupt':
      return runCorruptCampaign({ ...(req.full ? CORRUPT_FULL : CORRUPT_QUICK), ...o, ...onTrial, ...(req.classes !== undefined ? { variants: req.classes } : {}), ...(req.encrypted === true ? { encrypted: true, keyless: req.keyless === true } : {}) });
    case 'powerloss':
      return runPowerlossCampaign({ ...(req.full ? POWERLOSS_FULL : POWERLOSS_QUICK), ...o, ...(req.shapes !== undefined ? { shapes: req.shapes } : {}) });
    case 'ioerror':
      return runIoErrorCampaign({ ...(req.full ? IOERROR_FULL : IOERROR_QUICK), ...o });
  }
}
