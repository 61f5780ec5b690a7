use std::process::Command;

use crate::spawn_sim;

#[tokio::test]
async fn prints_one_line_serves_and_exits_cleanly_on_sigterm() {
    let (mut child, url, token) = spawn_sim(&["--users", "50"]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(token, lumos_sim::DEFAULT_TOKEN);
    let body: serde_json::Value = lumos_api::http::client()
        .get(format!("{url}/users?size=1"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(body["total"], 50);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("exits");
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn given_tokens_are_validated() {
    let out = crate::bin()
        .args(["sim", "--addr", "127.0.0.1:0", "--token", "not-a-token"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("starts with 'lsk_'"), "{err}");
}
