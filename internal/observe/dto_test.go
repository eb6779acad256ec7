package observe_test

import dtomodel "github.com/prometheus/client_model/go"

type dto struct{ metrics []*dtomodel.Metric }
