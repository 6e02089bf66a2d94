package bench

import (
	"context"
	"errors"
	"sync/atomic"
)

// procRig is what a worker process under measurement runs against: a fresh
// schema (a pool of 5), the simulator counting the polls it answers, and a
// receiver registered as subscriber "bench".
type procRig struct {
	env   *schemaEnv
	prov  *providers
	sub   *subscriber
	polls atomic.Int64
}

// startProcRig starts a rig around sub, a receiver the caller started (the
// rig owns it from here on), or around a plain verifying receiver if sub is
// nil. The caller must call close when err is nil.
func startProcRig(ctx context.Context, databaseURL string, sub *subscriber) (_ *procRig, err error) {
	if sub == nil {
		if sub, err = startSubscriber(nil); err != nil {
			return nil, err
		}
	}
	r := &procRig{sub: sub}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.close())
		}
	}()
	if r.env, err = newSchema(ctx, databaseURL, 5); err != nil {
		return nil, err
	}
	if r.prov, err = startProviders(func() { r.polls.Add(1) }); err != nil {
		return nil, err
	}
	if err := sub.register(ctx, r.env.pool); err != nil {
		return nil, err
	}
	return r, nil
}

// close stops the servers and drops the schema.
func (r *procRig) close() error {
	r.sub.srv.close()
	if r.prov != nil {
		r.prov.srv.close()
	}
	if r.env != nil {
		return r.env.drop()
	}
	return nil
}
