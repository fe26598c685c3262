//! The client benchmark (../shared/bench/README.md, `client-compare.sh`): `--n` GETs
//! of `--url` through a keep-alive agent with `--conc` sockets, `--conc` requests in
//! flight (1 = strictly sequential), every body read to its end. One warm-up request
//! opens the first socket before the clock starts. Prints
//! `RESULT client=ours mode=seq|conc n=.. conc=.. secs=.. rps=..`.
//!
//! ```sh
//! cargo run --release -p courier-rt-tokio --example load-client -- --url http://127.0.0.1:8080/ --n 20000 --conc 1
//! ```

use std::time::Instant;

use courier_rt_tokio::{Agent, AgentChoice, AgentOptions, ClientOptions, get};

async fn worker(agent: Agent, url: String, n: usize) -> Result<(), String> {
    for _ in 0..n {
        let options = ClientOptions::url(url.as_str()).agent(AgentChoice::Agent(agent.clone()));
        let mut req = get(options).map_err(|e| e.to_string())?;
        let mut res = req.response().await.map_err(|e| e.to_string())?;
        if !(200..300).contains(&res.status_code()) {
            return Err(format!("status {}", res.status_code()));
        }
        let body = res.read_body().await.map_err(|e| e.to_string())?;
        std::hint::black_box(body);
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut url = String::from("http://127.0.0.1:8080/");
    let mut n: usize = 100_000;
    let mut conc: usize = 1;
    let mut threads: usize = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--url" => url = value,
            "--n" => n = value.parse()?,
            "--conc" => conc = value.parse::<usize>()?.max(1),
            "--threads" => threads = value.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(async move {
        let agent = Agent::new(AgentOptions {
            keep_alive: true,
            max_sockets: Some(conc),
            ..AgentOptions::default()
        })?;
        worker(agent.clone(), url.clone(), 1).await?;
        let per = n / conc;
        let start = Instant::now();
        let tasks: Vec<_> = (0..conc)
            .map(|_| tokio::spawn(worker(agent.clone(), url.clone(), per)))
            .collect();
        for t in tasks {
            t.await??;
        }
        let secs = start.elapsed().as_secs_f64();
        let mode = if conc == 1 { "seq" } else { "conc" };
        let total = per * conc;
        println!(
            "RESULT client=ours mode={mode} n={total} conc={conc} secs={secs:.4} rps={:.0}",
            total as f64 / secs
        );
        agent.destroy();
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
