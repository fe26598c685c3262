//! Node.js v20's `http` server and client on `std::net`, with no async runtime: the
//! adapter for tools and tests that want no runtime.
#![forbid(unsafe_code)]

pub mod client;
mod conn;
mod io;
mod message;
mod server;
mod upgraded;

pub use client::{
    BlockingClientRequest, BlockingClientResponse, BlockingConnector, BlockingRuntime,
    BlockingUpgrade, get, request,
};
pub use courier_rt::client::{
    Agent, AgentChoice, AgentOptions, AgentOptionsError, ClientError, ClientOptions,
    ClientOptionsError, ClientRequest, ClientResponse, ClientUpgrade, ConnectTarget, Connector,
    PoolOptions, RequestEvent, RequestHeaders, RequestOptions, Scheduling, SocketInfo, Transport,
    global_agent,
};
pub use courier_rt::{
    ClientErrorEvent, ConfigError, DateCache, HeaderValue, IncomingMessage, OutgoingError, ReqId,
    ResponseEvents, ServerOptions, ServerResponse, Socket, TimeoutListener,
};
pub use io::Stream;
pub use message::{BlockingRequest, BlockingResponse};
pub use server::{DEFAULT_BACKLOG, DEFAULT_MAX_THREADS, ListenAddr, Server, create_server};
pub use upgraded::Upgraded;
