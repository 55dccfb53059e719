package cli

import (
	"fmt"
	"log/slog"

	"github.com/winnow-data/winnow/objstore"
	"github.com/winnow-data/winnow/pipeline"
)

// openStore returns the store of the dataset root: an objstore.Store for
// an s3://bucket/prefix URL, else a LocalStore. With create set, a missing
// local folder is created, as a run that writes a new dataset needs, but
// a missing bucket is not. Object storage requests log their retries with
// slog's default logger.
func openStore(root string, create bool) (pipeline.Store, error) {
	return openStoreWithLogger(root, create, slog.Default())
}

// openStoreWithLogger returns the store of root as openStore does, and
// logs object storage retries to logger. The endpoint, region and
// credentials come from the AWS environment variables and files (see
// objstore.ConfigFromEnv and objstore.New), and are never logged.
func openStoreWithLogger(root string, create bool, logger *slog.Logger) (pipeline.Store, error) {
	if !objstore.IsURL(root) {
		if create {
			return pipeline.NewLocalStore(root)
		}
		return pipeline.OpenLocalStore(root)
	}
	cfg, err := objstore.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	client, err := objstore.New(cfg, logger)
	if err != nil {
		return nil, err
	}
	store, err := objstore.NewStore(client, root)
	if err != nil {
		return nil, err
	}
	// A missing bucket is a mistyped root, as a missing folder is. A
	// prefix with no objects is an empty root, since object storage has
	// no folders to create.
	if err := store.CheckBucket(); err != nil {
		return nil, fmt.Errorf("dataset root %s: %w", root, err)
	}
	return store, nil
}

// localStore returns store as a LocalStore, for code that works only on a
// local folder, such as a run's checkpoints. For another store it returns
// a usage error that names the root.
func localStore(store pipeline.Store) (*pipeline.LocalStore, error) {
	if local, ok := store.(*pipeline.LocalStore); ok {
		return local, nil
	}
	return nil, errLocalOnly(store.String())
}

// openLocalRoot opens the dataset root for a command that works only on
// a local folder, and rejects an s3:// root before it sends any request.
func openLocalRoot(root string) (*pipeline.LocalStore, error) {
	if objstore.IsURL(root) {
		return nil, errLocalOnly(root)
	}
	return pipeline.OpenLocalStore(root)
}

// errLocalOnly returns the usage error of a command that does not work on
// the object storage root yet.
func errLocalOnly(root string) error {
	return usageError{fmt.Errorf("%s: s3:// roots are not supported by this command yet", root)}
}
