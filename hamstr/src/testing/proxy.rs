//! [`TcpProxy`]: a TCP proxy on 127.0.0.1 that can drop every connection it carries, for
//! testing what a client does when its server goes away (a database restart, a dropped link).

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::{AbortHandle, JoinSet},
};

/// Forwards connections to an upstream address until told to cut them.
///
/// [`cut`](Self::cut) drops every connection open through it, as a server restart does, and
/// refuses (accepts, then closes at once) the next few, as a server still starting does.
/// Dropping the proxy closes everything.
///
/// # Examples
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// use hamstr::testing::TcpProxy;
/// let proxy = TcpProxy::start("127.0.0.1:5432").await?;
/// let url = format!("postgres://app:secret@{}/shop", proxy.address());
/// // ... connect through `url`, then:
/// proxy.cut(2);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TcpProxy {
    address: SocketAddr,
    cuts: watch::Sender<u64>,
    refusals: Arc<AtomicUsize>,
    accepting: AbortHandle,
}

impl TcpProxy {
    /// Listens on a free port of 127.0.0.1 and forwards each connection to `upstream`
    /// (`host:port`).
    ///
    /// # Errors
    /// When it cannot listen.
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (cuts, _) = watch::channel(0);
        let refusals = Arc::new(AtomicUsize::new(0));
        let (watching, refusing, upstream) =
            (cuts.clone(), Arc::clone(&refusals), upstream.to_owned());
        let accepting = tokio::spawn(async move {
            // Dropped with this task: every connection goes with the proxy.
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let is_refused = refusing
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                        left.checked_sub(1)
                    })
                    .is_ok();
                if is_refused {
                    continue; // dropped: closed at once
                }
                let mut cut = watching.subscribe();
                let upstream = upstream.clone();
                connections.spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        })
        .abort_handle();
        Ok(Self {
            address,
            cuts,
            refusals,
            accepting,
        })
    }

    /// Where clients connect: `127.0.0.1:PORT`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Drops every connection open now, and refuses the next `refusals` connections.
    pub fn cut(&self, refusals: usize) {
        self.refusals.store(refusals, Ordering::SeqCst);
        self.cuts.send_modify(|generation| *generation += 1);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}
