#!/usr/bin/zsh -f
# zcomplete.zsh ROOT DUMP LINE — the zsh completions of LINE, one per line.
# Runs an interactive zsh on a pseudo-terminal (zpty) with ROOT's
# completions first in fpath, types LINE and a TAB, and prints every match
# offered (compadd is wrapped to report them). DUMP is a compinit dump
# file, made on the first call and reused after.
zmodload zsh/zpty || exit 70
root=$1 dump=$2 line=$3
zdot=$(mktemp -d) || exit 70
cat >$zdot/.zshrc <<RC
PS1= PROMPT= RPROMPT=
fpath=($root/completions/zsh \$fpath)
autoload -U compinit
if [[ -f $dump ]]; then compinit -u -C -d $dump; else compinit -u -d $dump; fi
zstyle ':completion:*' insert-tab false
LISTMAX=100000
KEYTIMEOUT=1
compadd() {
	if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
		builtin compadd "\$@"
		return
	fi
	local -a __hits
	builtin compadd -A __hits "\$@"
	(( \$#__hits )) && print -rl -- "\${__hits[@]/#/<<}" >&2
	builtin compadd "\$@"
}
zcomplete-done() { print -u2 '<<END>>'; zle kill-whole-line; }
zle -N zcomplete-done
bindkey '^X' zcomplete-done
bindkey '^I' complete-word
RC
export ZDOTDIR=$zdot
zpty z zsh -i
zpty -n -w z "$line"$'\t'
zpty -n -w z $'\C-X'
out=
for i in {1..200}; do
	while zpty -r -t z chunk; do out+=$chunk; done
	[[ $out == *'<<END>>'* ]] && break
	sleep 0.05
done
zpty -d z
rm -rf $zdot
[[ $out == *'<<END>>'* ]] || { print -u2 "zcomplete: no answer"; exit 75; }
# Matches as the shell would insert them, without the quoting.
print -r -- "$out" | tr -d '\r' | sed -n 's/^.*<<\([^<>]*\)$/\1/p' |
    grep -v '^END$' | sed 's/\\\(.\)/\1/g' | sort -u
