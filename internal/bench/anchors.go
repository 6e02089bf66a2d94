package bench

import (
	"context"
	"fmt"
)

// AnchorsConfig is the sweep behind the honest anchors.
type AnchorsConfig struct {
	// Workers are the poll queue MaxWorkers values to try.
	Workers []int
	// Fetch are the fetch settings to try (River and the floor take both
	// values; pollhook's worker the poll interval, see pollhookSetting).
	Fetch []Fetch
}

// AnchorsResult compares pollhook's best poll rate with River's best no-op
// rate and with the floor's best poll rate, all measured in one run.
type AnchorsResult struct {
	// River, Floor and Pollhook hold every run of the sweep.
	River    []RiverResult `json:"river"`
	Floor    []PollResult  `json:"floor"`
	Pollhook []PollResult  `json:"pollhook"`
	// BestRiver, BestFloor and BestPollhook index the fastest run of each.
	BestRiver    int `json:"best_river"`
	BestFloor    int `json:"best_floor"`
	BestPollhook int `json:"best_pollhook"`
	// ToFloor and ToRiver are pollhook's best rate over the floor's best and
	// over River's best no-op rate.
	ToFloor float64 `json:"pollhook_best_to_floor_best"`
	ToRiver float64 `json:"pollhook_best_to_river_best"`
	// SameSettings is pollhook's rate over River's no-op rate at pollhook's
	// default setting (the old, flattering comparison), and
	// SameSettingsFloor the same against the floor; 0 if the sweep did not
	// include that setting.
	SameSettings      float64 `json:"same_settings_to_river"`
	SameSettingsFloor float64 `json:"same_settings_to_floor"`
	// Default is the setting SameSettings compares at.
	Default Setting `json:"default_setting"`
}

// MeasureAnchors runs the sweep: for every worker count and fetch setting,
// River's no-op rate (cfg.RiverJobs jobs), the floor and pollhook
// (cfg.PollSessions sessions of cfg.PollsInProgress+1 polls each).
func MeasureAnchors(ctx context.Context, cfg Config, p *progress) (*AnchorsResult, error) {
	res := &AnchorsResult{Default: cfg.withSetting(cfg.PollWorkers, DefaultFetch()).riverSetting()}
	var riverDefault, floorDefault, pollDefault float64
	for _, f := range cfg.Anchors.Fetch {
		for _, w := range cfg.Anchors.Workers {
			c := cfg.withSetting(w, f)
			isDefault := w == cfg.PollWorkers && f == DefaultFetch()
			if cfg.RiverJobs > 0 {
				r, err := MeasureRiver(ctx, c)
				if err != nil {
					return res, fmt.Errorf("river at %s: %w", c.riverSetting(), err)
				}
				p.printf("anchors: river no-op %s: %.0f jobs/s", r.Setting, r.JobsPerSecond)
				res.River = append(res.River, *r)
				if r.JobsPerSecond > res.River[res.BestRiver].JobsPerSecond {
					res.BestRiver = len(res.River) - 1
				}
				if isDefault {
					riverDefault = r.JobsPerSecond
				}
			}
			if cfg.PollSessions == 0 {
				continue
			}
			fl, err := MeasureFloor(ctx, c)
			if err != nil {
				return res, fmt.Errorf("floor at %s: %w", c.riverSetting(), err)
			}
			p.printf("anchors: floor %s: %.0f polls/s", fl.Setting, fl.PollsPerSecond)
			res.Floor = append(res.Floor, *fl)
			if fl.PollsPerSecond > res.Floor[res.BestFloor].PollsPerSecond {
				res.BestFloor = len(res.Floor) - 1
			}
			pc := c
			pc.FetchCooldown = 0
			if f.PollInterval == DefaultFetch().PollInterval {
				pc.FetchPollInterval = 0 // as cmd/worker, no override
			}
			ph, err := MeasurePoll(ctx, pc)
			if err != nil {
				return res, fmt.Errorf("pollhook at %s: %w", pc.pollhookSetting(), err)
			}
			p.printf("anchors: pollhook %s: %.0f polls/s", ph.Setting, ph.PollsPerSecond)
			res.Pollhook = append(res.Pollhook, *ph)
			if ph.PollsPerSecond > res.Pollhook[res.BestPollhook].PollsPerSecond {
				res.BestPollhook = len(res.Pollhook) - 1
			}
			if isDefault {
				floorDefault, pollDefault = fl.PollsPerSecond, ph.PollsPerSecond
			}
		}
	}
	if len(res.Pollhook) > 0 {
		best := res.Pollhook[res.BestPollhook].PollsPerSecond
		res.ToFloor = ratio(best, res.Floor[res.BestFloor].PollsPerSecond)
		if len(res.River) > 0 {
			res.ToRiver = ratio(best, res.River[res.BestRiver].JobsPerSecond)
		}
		res.SameSettings = ratio(pollDefault, riverDefault)
		res.SameSettingsFloor = ratio(pollDefault, floorDefault)
	}
	return res, nil
}

func ratio(a, b float64) float64 {
	if a == 0 || b == 0 {
		return 0
	}
	return a / b
}
