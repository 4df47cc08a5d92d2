//! Placeholder: this fixture is being written.
