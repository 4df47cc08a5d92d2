//! Placeholder: this reference server's test is being written.
