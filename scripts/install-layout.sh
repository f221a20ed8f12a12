# Sourced by install.sh and uninstall.sh: where each installed file goes.
executables=(cellos-broker cellos-netnsd cellos-dnsproxy cellos-flowlog)

# layout PREFIX: sets the directory variables.
layout() {
    prefix=$1
    case "$prefix" in /*) ;; *) echo "--prefix $prefix: must be an absolute path" >&2; exit 2 ;; esac
    prefix=${prefix%/}
    bindir=$prefix/bin
    sbindir=$prefix/sbin
    libexecdir=$prefix/libexec/cellos
    datadir=$prefix/share/cellos
    mandir=$prefix/share/man/man1
    bashcompletiondir=$prefix/share/bash-completion/completions
    zshcompletiondir=$prefix/share/zsh/site-functions
    fishcompletiondir=$prefix/share/fish/vendor_completions.d
    sysconfdir=/etc
    # systemd reads units, sysusers.d and tmpfiles.d from /usr/lib and
    # /usr/local/lib; any other prefix puts them where systemd looks: /etc.
    case "$prefix" in
        /usr | /usr/local) systemdlib=$prefix/lib ;;
        *) systemdlib=/etc ;;
    esac
    unitdir=$systemdlib/systemd/system
    sysusersdir=$systemdlib/sysusers.d
    tmpfilesdir=$systemdlib/tmpfiles.d
    manifestpath=$datadir/install-manifest
}
