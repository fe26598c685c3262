use base64::Engine;
use courier_proto::*;
#[test]
fn quick() {
    let dir = "/work/shared/conformance/llhttp";
    let mut bad = 0;
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().map(|x| x != "jsonl").unwrap_or(true) {
            continue;
        }
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let kind = v["kind"].as_str().unwrap();
            if kind == "url" {
                continue;
            }
            let strict = v["strict"].as_bool().unwrap();
            let input = base64::engine::general_purpose::STANDARD
                .decode(v["input_b64"].as_str().unwrap())
                .unwrap();
            let cfg = if strict {
                ParserConfig::default()
            } else {
                ParserConfig::insecure()
            };
            let mut p = if kind == "request" {
                Parser::request(cfg)
            } else {
                Parser::response(cfg)
            };
            if v["mode"]["skip_body"].as_bool().unwrap() {
                p.set_response_context(ResponseContext {
                    head: true,
                    connect: false,
                });
            }
            p.feed(&input);
            let mut msgs = 0;
            let mut err = None;
            let mut paused = false;
            for _ in 0..1000 {
                match p.poll() {
                    Ok(Some(Event::End(_))) => msgs += 1,
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        if p.is_paused() {
                            paused = true;
                        }
                        break;
                    }
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            total += 1;
            let exp = &v["summary"]["error"];
            let ok = match (&err, exp.is_null()) {
                (None, true) => true,
                (Some(e), false) => {
                    e.code() == exp["code"].as_str().unwrap()
                        && e.reason() == exp["reason"].as_str().unwrap()
                        && e.offset() == exp["off"].as_u64().unwrap()
                }
                _ => false,
            };
            if !ok {
                bad += 1;
                println!(
                    "{} {} strict={} got={:?} exp={} outcome={} msgs={} paused={}",
                    v["id"],
                    kind,
                    strict,
                    err.as_ref().map(|e| (e.code(), e.reason(), e.offset())),
                    exp,
                    v["summary"]["outcome"],
                    msgs,
                    paused
                );
            }
        }
    }
    println!("bad {bad} / {total}");
}
