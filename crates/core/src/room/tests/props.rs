//! Property tests of the policies through the station: whatever is asked, what reaches the
//! board stays inside the file policy, and the input policy holds for every role.

use super::*;
use proptest::prelude::*;

/// A board path from a few names that matter (protected files, the student folders, `..`).
fn path_strategy() -> impl Strategy<Value = String> {
    let seg = prop_oneof![
        Just("boot.py"),
        Just("main.py"),
        Just("webrepl_cfg.py"),
        Just("lib"),
        Just("students"),
        Just("bob"),
        Just("amy"),
        Just("x.py"),
        Just(".."),
        Just("."),
    ];
    proptest::collection::vec(seg, 0..5).prop_map(|v| format!("/{}", v.join("/")))
}

fn op_strategy() -> impl Strategy<Value = FsOp> {
    prop_oneof![
        path_strategy().prop_map(|dir| FsOp::List { dir }),
        path_strategy().prop_map(|path| FsOp::Remove { path }),
        (path_strategy(), path_strategy()).prop_map(|(from, to)| FsOp::Rename { from, to }),
        (path_strategy(), any::<bool>()).prop_map(|(path, parents)| FsOp::Mkdir { path, parents }),
    ]
}

/// Is `p` equal to or inside `dir`?
fn within(p: &str, dir: &str) -> bool {
    p == dir || p.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

proptest! {
    /// Whatever a student asks, what reaches the board changes only paths inside their own
    /// folder and nothing protected; teachers' commands all reach it (unless the path is
    /// invalid); every request is run or refused, never dropped.
    #[test]
    fn file_policy_holds_for_any_command(ops in proptest::collection::vec(op_strategy(), 1..8), teacher in any::<bool>()) {
        let mut b = Rec::default();
        let mut st = station("protect: [boot.py, webrepl_cfg.py, /lib]\nstudent_dir: /students");
        let (who, role) = if teacher { ("tina", T) } else { ("bob", S) };
        let mut v = Viewer::new(who, role.unwrap(), InputPolicy::Everyone);
        for op in &ops {
            let (_, m) = v.fs(op).unwrap();
            msg(&mut st, &mut b, who, role, m);
        }
        let refused = sent(&mut st).len();
        prop_assert_eq!(b.calls.len() + refused, ops.len(), "each command is run or refused");
        if teacher {
            let invalid = ops.iter().filter(|o| (*o).clone().normalized().is_err()).count();
            prop_assert_eq!(refused, invalid, "teachers are refused only invalid paths");
            return Ok(());
        }
        for op in &ops {
            let Ok(n) = op.clone().normalized() else { continue };
            if !b.calls.contains(&format!("fs {n:?}")) {
                continue;
            }
            for p in n.changed_paths() {
                prop_assert!(within(p, "/students/bob"), "{} is outside /students/bob", p);
                for q in ["/boot.py", "/webrepl_cfg.py", "/lib"] {
                    prop_assert!(!within(p, q) && !within(q, p), "{} touches {}", p, q);
                }
            }
        }
    }

    /// Who may type, for every policy and role: the station always, nobody unknown, students
    /// only when everyone may; a refusal says why.
    #[test]
    fn input_policy_for_every_role(policy in prop_oneof![Just("everyone"), Just("teacher"), Just("none")],
                                   role in prop_oneof![Just(None), Just(S), Just(T), Just(Some(Role::Station))]) {
        let mut b = Rec::default();
        let mut st = station(&format!("input: {policy}"));
        msg(&mut st, &mut b, "someone", role, RoomMessage::Input { text: "k".into() });
        let typed = !b.calls.is_empty();
        let want = match (policy, role) {
            (_, Some(Role::Station)) => true,
            (_, None) => false,
            ("everyone", _) => true,
            ("teacher", r) => r == T,
            _ => false,
        };
        prop_assert_eq!(typed, want);
        prop_assert_eq!(sent(&mut st).len(), usize::from(!want));
    }
}
