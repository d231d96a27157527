//! Request routers for servesim.
//!
//! A [`Router`] picks the worker of a pool that serves each arriving request. It sees what a
//! live router sees: the request (prompt length and block hashes), the workers' KV events,
//! and the lifecycle edges of the requests it routed (first token, completion). Routers are
//! pure and synchronous like engines: the caller passes `now`.
//!
//! * [`RoundRobin`] — cycles over the active workers in id order.
//! * [`KvRouter`] — prefix- and load-aware: cached-prefix overlap from the workers' KV
//!   events, pending prefill tokens and active blocks, a cost argmin or seeded softmax, and a
//!   queue when every worker is busy.

pub mod kv;
mod round_robin;
mod route;

pub use kv::{KvRouter, KvRouterConfig};
pub use round_robin::RoundRobin;
pub use route::{RouteRequest, Routed, Router, WorkerId};
